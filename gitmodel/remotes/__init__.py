"""Remotes: where objects are shared. A folder is built in; object storage goes through fsspec
(gcsfs, adlfs, sshfs as optional extras), S3 and S3-compatible stores through botocore's own
client (botofs.py).

Remote layout: loose objects at `<url>/objects/<2 hex>/<30 hex>`, as in the local cache, and
in the packed layout packs, recipes and a format marker beside them (layout.py).
"""
