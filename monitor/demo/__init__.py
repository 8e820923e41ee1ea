"""The embedded demo's sample data: written by the project, fictional, generated on the fly."""
