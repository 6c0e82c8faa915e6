"""The runtime: ``lookout up`` runs the generated stack as supervised child processes."""

from lookout.runtime.children import StackError
from lookout.runtime.stack import StackOptions, run_stack

__all__ = ["StackError", "StackOptions", "run_stack"]
