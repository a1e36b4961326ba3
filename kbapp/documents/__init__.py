"""Documents: the model and its front matter, templates, rendering, lint, links, import and drafts."""
