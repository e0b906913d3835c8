"""The review construct: the page and API reviewers resolve flags with, and their sign-in."""
