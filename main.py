#!/usr/bin/env python
"""Synthesize the Image Service: one Terraform stack per stage and one state stack per account
(stacks/app.py; the stages: stacks/settings/)."""

from stacks.cli import run_synth

if __name__ == "__main__":
    run_synth()
