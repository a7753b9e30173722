"""`bark serve` and its clients: a resident model for shells and scripts.

address.py  where the server listens (the user's runtime directory) and how clients find it
protocol.py the messages (a JSON header and numpy arrays), bounded before anything is allocated
server.py   the server: networks loaded once, one connection at a time (imports torch)
client.py   what `bark say` uses to render on a running server (no torch)
"""

DEFAULT_IDLE_TIMEOUT = 900.0  # seconds without a request before a server stops (0: never); here, for --help
