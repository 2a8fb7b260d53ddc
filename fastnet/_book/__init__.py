"""What the book's networks share behind the drop-ins (``fastnet.network``, ``fastnet.network2``): the
network of sigmoid neurons and its one SGD (``sigmoid_network``), the data and the runs of an SGD
call (``runs``), the checks at the public boundary (``validation``), a reader's own methods
(``overrides``) and the network's files (``files``). Everything numerical is the engine's
(``fastnet.engine``), reached through its package interface only.
"""
