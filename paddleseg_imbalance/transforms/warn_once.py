"""`WarnOnce`: a data-pipeline warning logged the first time only, not once per sample."""
from paddleseg.utils import logger


class WarnOnce:
    """A warning logged the first time it is called, in each process (DataLoader workers too)."""

    def __init__(self, message):
        self.message = message
        self.given = False

    def __call__(self):
        if not self.given:
            self.given = True
            logger.warning(self.message)
