"""ci_identity

construct.py: the construct; props.py: its props (importable without cdktf)."""
