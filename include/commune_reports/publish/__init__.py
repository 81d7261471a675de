"""What the pipeline publishes for people: the report document, the HTML pages, Data Docs."""
