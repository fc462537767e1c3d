"""Named points where a process can be made to die on purpose, to prove crash safety.

Set HUB_FAILPOINT=<name> and the process exits at once (no cleanup, like a kill -9) when it
reaches that point. Used by the tests; harmless when unset.
"""

import os

EXIT_CODE = 86


def failpoint(name: str) -> None:
    if os.environ.get("HUB_FAILPOINT") == name:
        os._exit(EXIT_CODE)
