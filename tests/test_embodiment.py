import pytest

from vla.embodiment import Embodiment


def make(**over):
    base = dict(
        name="arm",
        joint_names=("a", "b"),
        gripper_name="gripper",
        action_mode="joint_position",
        joint_units=("rad", "rad"),
        action_low=(-1.0, -2.0, 0.0),
        action_high=(1.0, 2.0, 1.0),
        gripper_sign=1,
        control_hz=10.0,
        cameras=("front",),
    )
    base.update(over)
    return Embodiment(**base)


def test_round_trip_through_plain_data():
    e = make()
    assert Embodiment.from_dict(e.to_dict()) == e
    assert e.action_dim == 3 and e.action_names == ("a", "b", "gripper")


def test_mismatch_names_the_fields():
    assert make().mismatch(make(control_hz=20.0, action_high=(1.0, 2.5, 1.0))) == [
        "action_high",
        "control_hz",
    ]


@pytest.mark.parametrize(
    "over, message",
    [
        ({"action_mode": "torque"}, "action_mode"),
        ({"action_low": (0.0, 0.0)}, "needs 3 values"),
        ({"action_low": (2.0, -2.0, 0.0)}, "below"),
        ({"gripper_sign": 0}, "gripper_sign"),
        ({"joint_units": ("rad",)}, "one unit per joint"),
    ],
)
def test_invalid_schemas_are_refused(over, message):
    with pytest.raises(ValueError, match=message):
        make(**over)


def test_unknown_fields_are_refused():
    data = make().to_dict() | {"colour": "red"}
    with pytest.raises(ValueError, match="unknown fields"):
        Embodiment.from_dict(data)


def test_the_state_is_described_apart_from_the_action():
    """A schema saved before `state_names` existed reads as a state that mirrors the action; one
    with its own state names has the state's width, not the action's."""
    old = {k: v for k, v in make().to_dict().items() if k != "state_names"}
    mirrored = Embodiment.from_dict(old)
    assert mirrored.state_dim == mirrored.action_dim
    assert mirrored.state_entry_names == mirrored.action_names
    own = Embodiment.from_dict({**old, "state_names": ["x", "y", "z", "opening"]})
    assert own.state_dim == 4 and own.action_dim == mirrored.action_dim
    assert Embodiment.from_dict(own.to_dict()) == own
