"""Instructions for the 50 Meta-World tasks: phrasings used for training and held-out paraphrases
that no demonstration uses, written here from what each task asks (the Meta-World paper's task
list, Yu et al. 2019), like the tabletop's `envs/language.py`.

Difficulty groups as the SmolVLA and LeRobot Meta-World reports use them (easy 28, medium 11,
hard 6, very hard 5; the grouping of Seo et al. 2022, as listed in lerobot 0.4.4's
metaworld_config.json), and the MT10 set of Meta-World itself.
"""

from __future__ import annotations

# task -> (training phrasings, dev paraphrases: held out of training, three per task; the first
# of each guided design (docs/results.md row 37), the other two were added with the frozen test set)
PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "assembly": (
        (
            "put the ring onto the peg",
            "fit the nut over the peg",
            "assemble the nut on the peg",
        ),
        (
            "slide the round nut down onto the post",
            "grab the nut by its handle and drop it over the post",
            "I want the ring sitting around the peg",
        ),
    ),
    "basketball": (
        (
            "dunk the ball into the hoop",
            "put the basketball in the basket",
            "score with the ball",
        ),
        (
            "drop the ball through the ring",
            "pick up the ball and drop it in the net",
            "I'd like the ball to go through the hoop",
        ),
    ),
    "bin-picking": (
        (
            "move the puck to the other bin",
            "take the puck from one bin to the other",
            "transfer the puck between the bins",
        ),
        (
            "carry the puck over into the second bin",
            "pick the puck out of its bin and drop it in the empty one",
            "I want the puck in the other container",
        ),
    ),
    "box-close": (
        (
            "close the box with its lid",
            "put the lid on the box",
            "cover the box",
        ),
        (
            "place the cover on top of the box",
            "grab the lid and set it on the box",
            "I want the box shut with its top on",
        ),
    ),
    "button-press-topdown": (
        (
            "press the button from above",
            "push the button down from the top",
            "press down on the button",
        ),
        (
            "hit the button straight down",
            "push down on the button that faces up",
            "I want the top button pushed all the way down",
        ),
    ),
    "button-press-topdown-wall": (
        (
            "press the button from above behind the wall",
            "reach over the wall and press the button down",
            "push the button down past the wall",
        ),
        (
            "get around the wall and hit the button from the top",
            "press the top button down, reaching past the wall",
            "with the wall in the way, push the button down from overhead",
        ),
    ),
    "button-press": (
        (
            "press the button",
            "push the button in",
            "press the button forward",
        ),
        (
            "poke the button on the box",
            "jab the button on the box's face",
            "I want the button pushed in all the way",
        ),
    ),
    "button-press-wall": (
        (
            "press the button behind the wall",
            "go around the wall and press the button",
            "push the button past the wall",
        ),
        (
            "get past the wall to push the button in",
            "reach around the barrier and push the button in",
            "the button behind the wall needs pressing in",
        ),
    ),
    "coffee-button": (
        (
            "press the coffee machine's button",
            "push the button on the coffee maker",
            "start the coffee machine",
        ),
        (
            "hit the switch on the coffee machine",
            "push the start button on the coffee maker",
            "turn on the espresso machine with its button",
        ),
    ),
    "coffee-pull": (
        (
            "pull the mug out from the coffee machine",
            "take the cup away from the coffee maker",
            "draw the mug back from the machine",
        ),
        (
            "slide the cup out of the coffee machine",
            "drag the mug out from under the spout",
            "bring the cup toward you, away from the coffee machine",
        ),
    ),
    "coffee-push": (
        (
            "push the mug under the coffee machine",
            "slide the cup into the coffee maker",
            "move the mug beneath the spout",
        ),
        (
            "shove the cup under the coffee machine",
            "slide the mug in beneath the coffee maker's spout",
            "I want the cup sitting under the coffee machine",
        ),
    ),
    "dial-turn": (
        (
            "turn the dial",
            "rotate the dial around",
            "twist the knob",
        ),
        (
            "spin the dial half a turn",
            "turn the round knob a good way around",
            "give the dial a twist",
        ),
    ),
    "disassemble": (
        (
            "take the ring off the peg",
            "lift the nut off the peg",
            "pull the nut up and off the post",
        ),
        (
            "remove the round nut from the peg",
            "lift the ring up off the post",
            "grab the nut by its handle and pull it free of the peg",
        ),
    ),
    "door-close": (
        (
            "close the door",
            "shut the door",
            "swing the door closed",
        ),
        (
            "push the open door shut",
            "swing the door back into its frame",
            "I want the door closed",
        ),
    ),
    "door-lock": (
        (
            "lock the door",
            "turn the lock to lock the door",
            "rotate the door lock closed",
        ),
        (
            "twist the door's lock into place",
            "turn the knob on the door to lock it",
            "flip the door's latch to locked",
        ),
    ),
    "door-open": (
        (
            "open the door",
            "pull the door open",
            "swing the door open",
        ),
        (
            "get the door open by its handle",
            "grab the handle and swing the door wide",
            "I want the door open",
        ),
    ),
    "door-unlock": (
        (
            "unlock the door",
            "turn the lock to unlock the door",
            "rotate the door lock open",
        ),
        (
            "twist the door's lock free",
            "turn the knob on the door to unlock it",
            "flip the door's latch to unlocked",
        ),
    ),
    "hand-insert": (
        (
            "put the gripper into the hole",
            "insert the hand in the hole",
            "place the gripper inside the hole",
        ),
        (
            "lower your hand into the opening",
            "carry the block down into the hole with your gripper",
            "I want the hand reaching inside the hole",
        ),
    ),
    "drawer-close": (
        (
            "close the drawer",
            "push the drawer shut",
            "slide the drawer closed",
        ),
        (
            "shove the drawer back in",
            "push the drawer back into the cabinet",
            "I want the drawer closed",
        ),
    ),
    "drawer-open": (
        (
            "open the drawer",
            "pull the drawer open",
            "slide the drawer out",
        ),
        (
            "draw the drawer out by its handle",
            "grab the handle and pull the drawer toward you",
            "I want the drawer open",
        ),
    ),
    "faucet-open": (
        (
            "turn the faucet on",
            "open the tap",
            "rotate the faucet handle open",
        ),
        (
            "twist the tap to let the water run",
            "rotate the tap handle to turn on the water",
            "I want the faucet on",
        ),
    ),
    "faucet-close": (
        (
            "turn the faucet off",
            "close the tap",
            "rotate the faucet handle closed",
        ),
        (
            "twist the tap to stop the water",
            "rotate the tap handle to shut off the water",
            "I want the faucet off",
        ),
    ),
    "hammer": (
        (
            "hammer the nail in",
            "drive the nail with the hammer",
            "use the hammer on the nail",
        ),
        (
            "pound the peg into the wall with the hammer",
            "grab the hammer and knock the nail in",
            "I want the nail driven flush",
        ),
    ),
    "handle-press-side": (
        (
            "press the handle down from the side",
            "push the side handle down",
            "press down the handle sideways",
        ),
        (
            "lower the handle from its side",
            "approach the handle from the side and press it down",
            "I want the side-mounted handle pushed to the bottom",
        ),
    ),
    "handle-press": (
        (
            "press the handle down",
            "push the handle down",
            "press down on the handle",
        ),
        (
            "force the handle to the bottom",
            "push down on the handle until it bottoms out",
            "I want the handle pressed down",
        ),
    ),
    "handle-pull-side": (
        (
            "pull the handle up from the side",
            "lift the side handle",
            "raise the handle sideways",
        ),
        (
            "pull the handle upwards from its side",
            "approach the handle from the side and pull it up",
            "I want the side-mounted handle raised",
        ),
    ),
    "handle-pull": (
        (
            "pull the handle up",
            "lift the handle",
            "raise the handle",
        ),
        (
            "draw the handle upwards",
            "pull up on the handle until it stops",
            "I want the handle raised",
        ),
    ),
    "lever-pull": (
        (
            "pull the lever",
            "move the lever up",
            "lift the lever",
        ),
        (
            "swing the lever upwards",
            "grab the lever and pull it upward",
            "I want the lever up",
        ),
    ),
    "pick-place-wall": (
        (
            "pick up the puck and place it past the wall",
            "move the puck over the wall to the goal",
            "carry the puck around the wall",
        ),
        (
            "lift the puck across the wall to its target",
            "pick up the disc and drop it on the other side of the wall",
            "get the puck over the barrier onto the goal spot",
        ),
    ),
    "pick-out-of-hole": (
        (
            "pick the puck out of the hole",
            "take the puck out of the hole",
            "lift the puck from the hole",
        ),
        (
            "get the puck up out of the opening",
            "grab the puck sitting in the hole and lift it out",
            "I want the puck out of the hole",
        ),
    ),
    "pick-place": (
        (
            "pick up the puck and place it at the goal",
            "move the puck to the goal",
            "put the puck on the target",
        ),
        (
            "carry the puck over to the marked spot",
            "grab the puck and set it down on the goal",
            "I want the puck lifted and placed at the target",
        ),
    ),
    "plate-slide": (
        (
            "slide the plate into the cabinet",
            "push the plate into the goal",
            "move the plate into the slot",
        ),
        (
            "shove the plate into the cabinet",
            "push the plate forward into the cabinet",
            "I want the plate pushed straight into the cabinet",
        ),
    ),
    "plate-slide-side": (
        (
            "slide the plate sideways into the cabinet",
            "push the plate in from the side",
            "move the plate sideways into the slot",
        ),
        (
            "shove the plate into the cabinet from the side",
            "push the plate sideways until it's in the cabinet",
            "I want the plate slid in from the side",
        ),
    ),
    "plate-slide-back": (
        (
            "slide the plate out of the cabinet",
            "pull the plate back out",
            "take the plate out of the slot",
        ),
        (
            "draw the plate back from the cabinet",
            "pull the plate straight out of the cabinet",
            "I want the plate back out of the cabinet",
        ),
    ),
    "plate-slide-back-side": (
        (
            "slide the plate out sideways",
            "pull the plate out from the side",
            "take the plate out of the slot sideways",
        ),
        (
            "draw the plate sideways out of the cabinet",
            "slide the plate out of the cabinet to the side",
            "I want the plate pulled out sideways",
        ),
    ),
    "peg-insert-side": (
        (
            "insert the peg into the hole from the side",
            "put the peg in the hole sideways",
            "slide the peg into the hole",
        ),
        (
            "push the peg sideways into the opening",
            "pick up the peg and slot it into the side hole",
            "I want the peg inserted into the hole from the side",
        ),
    ),
    "peg-unplug-side": (
        (
            "unplug the peg sideways",
            "pull the peg out of the hole",
            "take the peg out from the side",
        ),
        (
            "draw the peg sideways out of its socket",
            "grab the peg and slide it out of its socket to the side",
            "I want the peg unplugged",
        ),
    ),
    "soccer": (
        (
            "kick the ball into the goal",
            "score a goal with the ball",
            "push the soccer ball into the net",
        ),
        (
            "get the ball into the goal",
            "roll the ball into the goal",
            "I want the ball in the net",
        ),
    ),
    "stick-push": (
        (
            "push the box with the stick",
            "use the stick to push the box",
            "grab the stick and shove the box",
        ),
        (
            "move the box forward by pushing it with the stick",
            "use the stick as a tool to push the box away",
            "hold the stick and push the box with its end",
        ),
    ),
    "stick-pull": (
        (
            "pull the box with the stick",
            "use the stick to pull the box",
            "grab the stick and drag the box",
        ),
        (
            "bring the box back by hooking it with the stick",
            "use the stick as a tool to pull the box toward you",
            "hold the stick and drag the container back with it",
        ),
    ),
    "push": (
        (
            "push the puck to the goal",
            "slide the puck to the target",
            "shove the puck onto the goal",
        ),
        (
            "nudge the puck over to the marked spot",
            "slide the puck forward along the table to the goal",
            "I want the puck pushed onto the target",
        ),
    ),
    "push-wall": (
        (
            "push the puck past the wall to the goal",
            "slide the puck around the wall",
            "shove the puck to the goal behind the wall",
        ),
        (
            "nudge the puck around the wall to its target",
            "slide the puck to the goal, steering around the wall",
            "I want the puck pushed past the barrier onto the goal",
        ),
    ),
    "push-back": (
        (
            "push the puck back to the goal",
            "slide the puck backwards to the target",
            "pull the puck back onto the goal",
        ),
        (
            "draw the puck back to the marked spot",
            "slide the puck toward you onto the goal",
            "I want the puck pushed backwards to the target",
        ),
    ),
    "reach": (
        (
            "reach the goal",
            "move the gripper to the goal",
            "go to the target position",
        ),
        (
            "bring your hand to the marked point",
            "put your gripper on the goal point",
            "move the hand to the target location",
        ),
    ),
    "reach-wall": (
        (
            "reach the goal past the wall",
            "move the gripper around the wall to the goal",
            "go to the target behind the wall",
        ),
        (
            "bring your hand over the wall to the marked point",
            "reach over the barrier to the goal",
            "move your hand past the wall to the target",
        ),
    ),
    "shelf-place": (
        (
            "put the puck on the shelf",
            "place the puck onto the shelf",
            "set the puck on the shelf",
        ),
        (
            "lift the puck up onto the shelf",
            "lift the disc and rest it on the shelf",
            "I want the puck up on the shelf",
        ),
    ),
    "sweep-into": (
        (
            "sweep the puck into the hole",
            "push the puck into the hole",
            "slide the puck into the opening",
        ),
        (
            "brush the puck into the hole",
            "sweep the disc over and into the hole",
            "I want the puck pushed along the table until it drops in the hole",
        ),
    ),
    "sweep": (
        (
            "sweep the puck off the table",
            "push the puck off the edge",
            "slide the puck off the table",
        ),
        (
            "brush the puck over the edge",
            "push the puck over the table's edge",
            "I want the puck off the table",
        ),
    ),
    "window-open": (
        (
            "open the window",
            "slide the window open",
            "push the window open",
        ),
        (
            "move the window sash to open it",
            "slide the window pane open",
            "I want the window open",
        ),
    ),
    "window-close": (
        (
            "close the window",
            "slide the window shut",
            "push the window closed",
        ),
        (
            "move the window sash to close it",
            "slide the window pane shut",
            "I want the window closed",
        ),
    ),
}

TASKS = tuple(sorted(PHRASES))
MT10 = (
    "reach",
    "push",
    "pick-place",
    "door-open",
    "drawer-open",
    "drawer-close",
    "button-press-topdown",
    "peg-insert-side",
    "window-open",
    "window-close",
)
DIFFICULTY = {
    "easy": (
        "button-press", "button-press-topdown", "button-press-topdown-wall", "button-press-wall",
        "coffee-button", "dial-turn", "door-close", "door-lock", "door-open", "door-unlock",
        "drawer-close", "drawer-open", "faucet-close", "faucet-open", "handle-press",
        "handle-press-side", "handle-pull", "handle-pull-side", "lever-pull", "plate-slide",
        "plate-slide-back", "plate-slide-back-side", "plate-slide-side", "reach", "reach-wall",
        "window-close", "window-open", "peg-unplug-side",
    ),
    "medium": (
        "basketball", "bin-picking", "box-close", "coffee-pull", "coffee-push", "hammer",
        "peg-insert-side", "push-wall", "soccer", "sweep", "sweep-into",
    ),
    "hard": ("assembly", "hand-insert", "pick-out-of-hole", "pick-place", "push", "push-back"),
    "very_hard": ("shelf-place", "disassemble", "stick-pull", "stick-push", "pick-place-wall"),
}  # fmt: skip
# heldout: the dev paraphrases; test: frozen, see below; train_wide: train and WIDER's
SETS = ("train", "heldout", "test", "train_wide")

# More training phrasings per task, for `vla collect instruction_set=train_wide`: three short
# imperatives per task leave the policy 3 points per task to learn from, and a paraphrase in
# another style ("please ...", "the drawer needs to be ...") falls between them. These vary the
# style the same way across tasks, so what stays constant within a task is what it asks.
# Written for every MT50 task (MT10's first, for the proxy) without reading the dev or test
# paraphrases; two that came out word for word as dev paraphrases were replaced.
WIDER: dict[str, tuple[str, ...]] = {
    "reach": (
        "please move your hand over to the goal",
        "could you reach out to the target",
        "the gripper needs to touch the goal position",
        "get the end effector to the goal",
        "head for the target with the arm",
    ),
    "push": (
        "please push the puck until it reaches the goal",
        "could you shove the puck over to the target",
        "the puck has to end up on the goal, so push it there",
        "use the gripper to slide the puck onto the target",
        "move the puck along the table to the goal by pushing it",
    ),
    "pick-place": (
        "please pick the puck up and put it down on the goal",
        "could you lift the puck and drop it at the target",
        "the puck needs to go on the goal, so pick it up and place it",
        "grasp the puck and bring it to the target position",
        "take the puck to the goal position",
    ),
    "door-open": (
        "please open the door",
        "could you pull the door so it opens",
        "the door needs to be opened",
        "pull on the door's handle until the door is open",
        "make the door open",
    ),
    "drawer-open": (
        "please open the drawer",
        "could you pull the drawer out",
        "the drawer needs to be opened",
        "pull on the drawer's handle until it is open",
        "make the drawer open",
    ),
    "drawer-close": (
        "please close the drawer",
        "could you push the drawer in",
        "the drawer needs to be closed",
        "push on the drawer's front until it is shut",
        "make the drawer close",
    ),
    "button-press-topdown": (
        "please press the button",
        "could you push the button from the top",
        "the button needs to be pressed down",
        "lower the hand onto the button until it clicks in",
        "press the top of the button",
    ),
    "peg-insert-side": (
        "please put the peg into the hole",
        "could you insert the peg sideways",
        "the peg needs to go into the hole",
        "grasp the peg and push it into the hole from the side",
        "fit the peg into the hole",
    ),
    "window-open": (
        "please open the window",
        "could you slide the window to open it",
        "the window needs to be opened",
        "push the window sideways until it is open",
        "make the window open",
    ),
    "window-close": (
        "please close the window",
        "could you slide the window to close it",
        "the window needs to be closed",
        "push the window sideways until it is shut",
        "make the window close",
    ),
    # the other 40 of MT50's tasks (2026-12-07), written the same way
    "assembly": (
        "please slide the handled nut down over the peg",
        "could you fit the round nut onto the peg",
        "the nut needs to sit on the peg, so put it on",
        "grab the nut by its handle and lower it onto the peg",
        "thread the ring down around the peg",
    ),
    "basketball": (
        "please drop the ball into the hoop",
        "could you put the ball through the basketball hoop",
        "the ball has to go into the hoop, so shoot it in",
        "pick up the ball and place it in the hoop",
        "carry the basketball over and put it through the rim",
    ),
    "bin-picking": (
        "please move the cube from one bin into the other",
        "could you pick the cube out of its bin and drop it in the other bin",
        "the cube needs to end up in the other bin",
        "lift the block out of the first bin and place it in the second",
        "carry the cube across to the other bin",
    ),
    "box-close": (
        "please place the lid on top of the box",
        "could you close the box by putting its lid on",
        "the box needs to be closed, so put the lid on it",
        "pick up the lid and set it onto the box",
        "shut the box with the lid",
    ),
    "button-press": (
        "please push the button in from the front",
        "could you press the button straight ahead",
        "the button needs to be pressed in from the front",
        "poke the button forward with the gripper",
        "press the front button in with no wall in the way",
    ),
    "button-press-topdown-wall": (
        "please press the button down from the top past the wall",
        "could you push the button downward from above, behind the wall",
        "the button behind the wall has to be pressed down from the top",
        "lower the gripper onto the button from above, avoiding the wall",
        "press down on the top of the button beyond the wall",
    ),
    "button-press-wall": (
        "please press the button in from the front past the wall",
        "could you push the button forward behind the wall",
        "the button behind the wall needs to be pressed in from the front",
        "get around the wall and poke the button forward",
        "press the button straight in while avoiding the wall",
    ),
    "coffee-button": (
        "please press the button on the coffee machine",
        "could you push the coffee machine's start button",
        "the coffee machine's button needs to be pressed",
        "hit the button on the front of the coffee maker",
        "turn on the coffee maker by pressing its button",
    ),
    "coffee-pull": (
        "please pull the mug away from the coffee machine",
        "could you drag the cup out from under the coffee maker",
        "the mug needs to come away from the coffee machine, so pull it out",
        "slide the mug back toward you out of the coffee machine",
        "pull the coffee cup out from under the spout",
    ),
    "coffee-push": (
        "please push the mug under the coffee machine's spout",
        "could you slide the cup in beneath the coffee maker",
        "the mug has to be under the coffee machine, so push it in",
        "shove the coffee cup forward into the coffee machine",
        "move the mug into place under the coffee maker by pushing it",
    ),
    "dial-turn": (
        "please turn the dial around",
        "could you twist the dial",
        "the dial needs to be rotated, so turn it",
        "spin the knob on the dial",
        "grab the dial and rotate it",
    ),
    "disassemble": (
        "please lift the handled nut up off the peg",
        "could you pull the round nut off the peg",
        "the nut needs to come off the peg, so lift it off",
        "grab the nut by its handle and raise it off the peg",
        "remove the ring from the peg by lifting it",
    ),
    "door-close": (
        "please close the door",
        "could you push the door shut",
        "the door needs to be closed, so swing it shut",
        "push the open door until it is closed",
        "shut the door all the way",
    ),
    "door-lock": (
        "please lock the door",
        "could you turn the door lock to the locked position",
        "the door needs to be locked, so turn the lock",
        "twist the lock on the door to lock it",
        "rotate the door's lock knob down to lock it",
    ),
    "door-unlock": (
        "please unlock the door",
        "could you turn the door lock to the unlocked position",
        "the door needs to be unlocked, so turn the lock",
        "twist the lock on the door to unlock it",
        "rotate the door's lock knob to open the lock",
    ),
    "faucet-close": (
        "please turn off the faucet",
        "could you close the faucet",
        "the faucet needs to be shut off, so turn the handle",
        "twist the faucet handle to turn the water off",
        "shut off the tap by turning its handle",
    ),
    "faucet-open": (
        "please turn on the faucet",
        "could you open the faucet",
        "the faucet needs to be turned on, so turn the handle",
        "twist the faucet handle to turn the water on",
        "open up the tap by turning its handle",
    ),
    "hammer": (
        "please hammer the nail in",
        "could you pick up the hammer and knock the nail in",
        "the nail needs to be hammered in with the hammer",
        "grab the hammer and drive the nail into the wall",
        "hit the nail with the hammer until it goes in",
    ),
    "hand-insert": (
        "please put your hand into the hole",
        "could you stick the gripper into the hole",
        "the gripper needs to go inside the hole",
        "lower the hand down into the hole",
        "move the gripper into the hole in the table",
    ),
    "handle-press": (
        "please press the handle down from the top",
        "could you push down on the handle from above",
        "the handle needs to be pressed down from the front",
        "push the handle downward with the gripper",
        "press the front handle all the way down",
    ),
    "handle-press-side": (
        "please press the side handle down",
        "could you push the handle down from the side",
        "the side handle needs to be pressed down",
        "approach the handle from the side and push it down",
        "push down on the sideways handle",
    ),
    "handle-pull": (
        "please pull the handle up from the front",
        "could you lift the handle up",
        "the handle needs to be pulled up, so raise it",
        "grab the front handle and pull it upward",
        "pull up on the handle with the gripper",
    ),
    "handle-pull-side": (
        "please pull the side handle up",
        "could you lift the handle up from the side",
        "the side handle needs to be pulled up",
        "raise the handle that sticks out to the side",
        "pull up on the sideways handle",
    ),
    "lever-pull": (
        "please pull the lever up",
        "could you raise the lever",
        "the lever needs to be pulled up",
        "grab the lever and swing it upward",
        "pull up on the lever with the gripper",
    ),
    "peg-unplug-side": (
        "please unplug the peg from the side",
        "could you pull the peg out sideways",
        "the peg needs to be pulled out of its hole sideways",
        "grab the peg and slide it out to the side",
        "pull the plugged peg out horizontally",
    ),
    "pick-out-of-hole": (
        "please pick the peg up out of the hole",
        "could you lift the cylinder out of the hole",
        "the peg needs to come out of the hole, so pick it up",
        "grasp the peg in the hole and raise it out",
        "pull the cylinder up out of the hole",
    ),
    "pick-place-wall": (
        "please pick up the puck and place it on the other side of the wall",
        "could you lift the puck over the wall and put it at the goal",
        "the puck needs to go to the goal behind the wall",
        "grasp the puck and carry it past the wall to the target",
        "pick the puck up and set it down beyond the wall",
    ),
    "plate-slide": (
        "please slide the plate into the cabinet from the front",
        "could you push the plate forward into the cabinet",
        "the plate needs to go into the cabinet, so slide it in",
        "shove the plate straight in to the cabinet",
        "push the plate forward into the slot",
    ),
    "plate-slide-back": (
        "please slide the plate back out of the cabinet",
        "could you pull the plate out of the cabinet toward you",
        "the plate needs to come out of the cabinet, so pull it back",
        "drag the plate straight back out of the cabinet",
        "pull the plate back out from the front of the cabinet",
    ),
    "plate-slide-back-side": (
        "please slide the plate back out of the cabinet sideways",
        "could you pull the plate out of the cabinet from the side",
        "the plate needs to come out of the cabinet sideways",
        "drag the plate sideways out of the cabinet",
        "pull the plate out of the slot to the side",
    ),
    "plate-slide-side": (
        "please slide the plate into the cabinet sideways",
        "could you push the plate sideways into the cabinet",
        "the plate needs to go into the cabinet from the side",
        "shove the plate sideways in to the cabinet",
        "push the plate into the slot from the side",
    ),
    "push-back": (
        "please pull the puck back toward you to the goal",
        "could you slide the puck backwards onto the target",
        "the puck has to end up back on the goal near the robot",
        "drag the puck back toward the robot to the target",
        "bring the puck backwards along the table to the goal",
    ),
    "push-wall": (
        "please push the puck around the wall to the goal",
        "could you slide the puck past the wall onto the target",
        "the puck has to reach the goal behind the wall, so push it",
        "shove the puck along the table around the wall to the target",
        "nudge the puck past the wall to the goal",
    ),
    "reach-wall": (
        "please move your hand past the wall to the goal",
        "could you reach over the wall to the target",
        "the gripper needs to get to the goal behind the wall",
        "get the end effector around the wall to the goal",
        "head for the target beyond the wall with the arm",
    ),
    "shelf-place": (
        "please put the block up on the shelf",
        "could you place the block onto the shelf",
        "the block needs to go on the shelf, so pick it up",
        "lift the block and set it down on the shelf",
        "pick up the puck and put it on the shelf",
    ),
    "soccer": (
        "please push the ball into the goal net",
        "could you kick the soccer ball into the net",
        "the ball needs to go into the goal, so push it in",
        "shove the soccer ball across the table into the net",
        "get the ball past the goal line into the net",
    ),
    "stick-pull": (
        "please use the stick to pull the thermos toward you",
        "could you grab the stick and pull the box back",
        "the box needs to be pulled with the stick",
        "pick up the stick and drag the thermos back with it",
        "hook the box with the stick and pull it",
    ),
    "stick-push": (
        "please use the stick to push the thermos away",
        "could you grab the stick and push the box forward",
        "the box needs to be pushed with the stick",
        "pick up the stick and shove the thermos forward with it",
        "hold the stick and push the box to the goal",
    ),
    "sweep": (
        "please sweep the puck off the edge of the table",
        "could you push the puck off the table",
        "the puck needs to fall off the table, so sweep it off",
        "brush the puck over the table edge",
        "knock the puck off the side of the table",
    ),
    "sweep-into": (
        "please sweep the puck into the hole",
        "could you push the puck into the hole in the table",
        "the puck needs to go into the hole, so sweep it in",
        "brush the puck along the table into the hole",
        "slide the puck over and drop it into the hole",
    ),
}


def templates(task: str, instruction_set: str = "train") -> tuple[str, ...]:
    if instruction_set not in SETS:
        raise ValueError(f"instruction_set must be one of {SETS}, got {instruction_set!r}")
    if instruction_set == "test":  # envs/test_phrasings.py: never used to choose anything
        from vla.envs import test_phrasings

        return test_phrasings.phrasings("metaworld", task)
    train, heldout = PHRASES[task]
    if instruction_set == "train_wide":
        return train + WIDER[task]
    return train if instruction_set == "train" else heldout


def difficulty_of(task: str) -> str:
    return next(group for group, tasks in DIFFICULTY.items() if task in tasks)


def other_task(task: str) -> str:
    """The task whose instruction the shuffled-instruction control gives in `task`'s scene: the
    next one in MT10 for an MT10 task (so the control stays inside the ten trained on), else
    the next of all fifty."""
    ring = MT10 if task in MT10 else TASKS
    return ring[(ring.index(task) + 1) % len(ring)]
