"""Security of Lookout's endpoints: certificates, credentials, the authentication middleware, redaction.

Stands on the config model only, so the generators, the runtime and every server can use it (docs/security.md).
"""

from __future__ import annotations


class SecurityError(Exception):
    """Bad security configuration or files: the message is one line naming the field and the fix."""
