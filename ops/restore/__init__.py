"""Get back what users lose on one stage: the metadata table's items, or the image bucket's
objects, as they were at a point in time (issue 37; docs/recovery.md).

    python -m ops.restore table STAGE (--to TIME | --backup ARN) [--apply] [--include-created]
                                [--key-prefix PREFIX] [--keep-temporary] [--segments N] [--rate N]
    python -m ops.restore images STAGE --to TIME [--prefix PREFIX] [--apply] [--include-created]
                                [--rate N]

Both are a dry run unless --apply: they report what would change (counts and sample keys) and
change nothing. `table` restores the table (from its point-in-time recovery, or a backup) into a
temporary table, compares the two, and writes back exactly the items deleted or changed since;
`images` brings back the objects deleted or overwritten since, from the bucket's versions. What
was created since is left alone unless --include-created. Ctrl-C stops between two writes; the
same command then resumes and writes nothing twice.

Exit codes: 0 done (a dry run, or the restore applied); 2 bad input or a fault (an unknown stage,
a time outside what can be restored, a bucket without versioning, the emulator not running, no
credentials for the stage's account), named in one paragraph with its fix; 130 interrupted (run
the same command again to resume).
"""
