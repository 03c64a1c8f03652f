"""Networks used by the tasks, written here because torchvision and timm are not usable in this environment."""
