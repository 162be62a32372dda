# Recording storage and retention arrive with the recordings issue.
