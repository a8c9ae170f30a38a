"""Bulk CDR rating beyond one process: the Spark job that runs the vectorised rater over many files."""
