"""Lighter visual meshes for rendering: decimate the ones with many faces.

Some robot packages ship visual meshes of 10^5 faces per link (the SO-101's arm totals ~400k),
which software OpenGL (Mesa llvmpipe) draws at a few frames per second. Visual-only meshes
above `max_faces` are simplified (quadric decimation, `fast-simplification`) before the scene
compiles; collision meshes and all physics are untouched.
"""

from __future__ import annotations

import hashlib
import io

import mujoco
import numpy as np

from vla import atomic
from vla.paths import cache_root

DEFAULT_MAX_FACES = 4000


def _mesh_users(model: mujoco.MjModel) -> tuple[set[int], set[int]]:
    """(meshes drawn by visual-only geoms, meshes used by colliding geoms)."""
    visual, colliding = set(), set()
    for g in range(model.ngeom):
        if model.geom_type[g] != mujoco.mjtGeom.mjGEOM_MESH:
            continue
        mesh = int(model.geom_dataid[g])
        if model.geom_contype[g] == 0 and model.geom_conaffinity[g] == 0:
            visual.add(mesh)
        else:
            colliding.add(mesh)
    return visual, colliding


def decimate(spec: mujoco.MjSpec, model: mujoco.MjModel, max_faces: int = DEFAULT_MAX_FACES) -> int:
    """Draw heavy meshes from simplified copies in `spec` (compiled as `model`).

    Decimations are cached under $VLA_CACHE/meshes, keyed by the mesh's content.

    Returns the number of faces removed. The compiled vertices are mapped back to the asset's
    own frame (MuJoCo re-centres meshes on compile), so the new mesh lands where the old one did.
    """
    removed = 0
    visual, colliding = _mesh_users(model)
    for i in sorted(visual):
        nface = int(model.mesh_facenum[i])
        if nface <= max_faces:
            continue
        vadr, nvert, fadr = model.mesh_vertadr[i], model.mesh_vertnum[i], model.mesh_faceadr[i]
        vert = model.mesh_vert[vadr : vadr + nvert].astype(np.float64)
        face = model.mesh_face[fadr : fadr + nface].astype(np.int64)
        rot = np.zeros(9)
        mujoco.mju_quat2Mat(rot, model.mesh_quat[i])
        vert = vert @ rot.reshape(3, 3).T + model.mesh_pos[i]
        if max_faces > 0:
            points, faces = _simplified(vert, face, max_faces)
        else:  # max_faces=0: copy as is (checks the frame mapping)
            points, faces = vert, face
        old = model.mesh(i).name
        lite = spec.add_mesh(name=f"{old}__lite")
        lite.uservert = points.astype(np.float32).ravel()
        lite.userface = faces.astype(np.int32).ravel()
        for geom in spec.geoms:  # only the drawn copies switch; collision keeps the original
            if geom.meshname == old and geom.contype == 0 and geom.conaffinity == 0:
                geom.meshname = lite.name
        if i not in colliding:
            spec.mesh(old).delete()
        removed += nface - len(faces)
    return removed


def _simplified(
    vert: np.ndarray, face: np.ndarray, max_faces: int
) -> tuple[np.ndarray, np.ndarray]:
    """Simplified (vertices, faces), cached on disk by content (decimation takes seconds)."""
    import fast_simplification

    key = hashlib.sha256(vert.tobytes() + face.tobytes() + str(max_faces).encode()).hexdigest()[:24]
    path = cache_root() / "meshes" / f"{key}.npz"
    if path.is_file():
        with np.load(path) as cached:
            return cached["points"], cached["faces"]
    # Meshes exported with split vertices (per-face normals, UV seams) must be welded first,
    # or the simplifier sees a soup of disconnected triangles.
    _, first, inverse = np.unique(np.round(vert, 7), axis=0, return_index=True, return_inverse=True)
    vert, face = vert[first], inverse.reshape(-1)[face]
    points, faces = fast_simplification.simplify(
        vert, face, target_reduction=1 - max_faces / len(face)
    )
    buffer = io.BytesIO()
    np.savez(buffer, points=points, faces=faces)
    atomic.write_bytes(path, buffer.getvalue())
    return points, faces
