"""The production settings, with what a test run must supply (a key, a throwaway database)."""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-key-" + "x" * 40)
os.environ.setdefault("DATABASE_PATH", os.path.join(tempfile.gettempdir(), "k8s-combat-tests.sqlite3"))
os.environ.setdefault("POD_NAME", "k8s-combat-test-pod")
os.environ.setdefault("POD_IP", "127.0.0.1")
os.environ.setdefault("NODE_NAME", "test-node")
os.environ.setdefault("COMBAT_GRPC_PORT", "0")

from combat_app.settings import *  # noqa: F403
