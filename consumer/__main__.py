"""``python -m consumer``: run one consumer worker with settings from the environment."""

import sys

from consumer.main import main

sys.exit(main())
