"""Decimated visual meshes: far fewer faces, the same picture, collision untouched."""

import mujoco
import numpy as np

from vla.envs import meshes, scene
from vla.envs.robots import registry


def render(model, camera="front"):
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    renderer = mujoco.Renderer(model, 96, 96)
    renderer.update_scene(data, camera)
    image = renderer.render()
    renderer.close()
    return image.astype(int)


def drawn_faces(model):
    return sum(
        model.mesh_facenum[model.geom_dataid[g]]
        for g in range(model.ngeom)
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH and model.geom_group[g] < 3
    )


def collision_meshes(model):
    return sorted(
        (model.mesh(model.geom_dataid[g]).name, int(model.mesh_facenum[model.geom_dataid[g]]))
        for g in range(model.ngeom)
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH
        and (model.geom_contype[g] or model.geom_conaffinity[g])
    )


def fresh_spec(robot):
    spec = scene.compose(robot)
    scene.add_tcp_and_wrist_camera(spec, robot)
    return spec


def test_decimation_keeps_the_picture_and_the_physics():
    robot = registry.get("panda")
    original = fresh_spec(robot).compile()
    spec = fresh_spec(robot)
    removed = meshes.decimate(spec, spec.compile(), max_faces=3000)
    lite = spec.compile()
    assert removed > 0 and drawn_faces(lite) < 0.5 * drawn_faces(original)
    assert collision_meshes(lite) == collision_meshes(original)
    diff = np.abs(render(lite) - render(original))
    assert diff.mean() < 2.0 and (diff.max(-1) > 40).mean() < 0.01


def test_copy_without_decimation_lands_where_the_original_was():
    # max_faces=0 copies every visual mesh through the frame mapping unchanged: the picture
    # may differ only by float rounding (a misplaced or mis-scaled mesh would move pixels).
    robot = registry.get("ur5e")
    original = fresh_spec(robot).compile()
    spec = fresh_spec(robot)
    meshes.decimate(spec, spec.compile(), max_faces=0)
    diff = np.abs(render(spec.compile()) - render(original))
    assert diff.max() <= 2 and (diff > 0).mean() < 0.005
