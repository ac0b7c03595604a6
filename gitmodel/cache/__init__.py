"""The object cache: content-addressed objects, link modes, the stat cache and locks."""
