"""One module per dashboard: each defines ``dashboard(policy) -> Dashboard``; :mod:`..catalog` lists them."""
