"""The review Lambda: the queue of flagged bins, their resolution by a reviewer, and the page that does it."""
