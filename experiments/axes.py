"""The names of the protocol's grid axes, shared by the protocol and the reports (a module with no imports, so that
a report's declared code does not grow to the optimizers that the protocol checks against)."""

AXES = ("lr", "effective_lr", "one_minus_momentum", "weight_decay", "rho")
LEARNING_RATE_AXES = ("lr", "effective_lr")
