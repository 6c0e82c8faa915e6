"""A Python program that never builds an MCP server: it waits until it is stopped."""

import threading

threading.Event().wait()
