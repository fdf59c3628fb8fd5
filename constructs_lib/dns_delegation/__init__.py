"""The DNS account's delegation roles: construct.py, props.py."""
