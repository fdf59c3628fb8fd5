#!/usr/bin/env python
"""Synthesize the Image Service: one Terraform stack per stage (see stacks/settings.py)."""

from stacks.cli import run_synth

if __name__ == "__main__":
    run_synth()
