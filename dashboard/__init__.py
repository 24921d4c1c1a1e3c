"""The live dashboard: watches the Service's endpoints and shows which pod answers each call."""
