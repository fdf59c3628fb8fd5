"""image_handler

construct.py: the construct; props.py: its props (importable without cdktf)."""
