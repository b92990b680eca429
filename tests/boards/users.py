"""The users the board tests connect as."""

from collab.users import User

ANN = User("u-ann", "Ann")
BOB = User("u-bob", "Bob")
CAT = User("u-cat", "Cat")
WATCHER = User("u-watcher", "Watcher")
READER = User("u-reader", "Reader", roles=frozenset({"readonly"}))
