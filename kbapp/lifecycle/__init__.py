"""A document's life: incidents and their checklists, capture, reviews, activity, the health report and its trends."""
