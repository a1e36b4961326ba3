"""The repository: the one git gateway, sync, the merge driver, conflicts, recovery, the journal of pending commits, history and the git hooks."""
