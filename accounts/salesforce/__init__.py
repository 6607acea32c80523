"""The only code that speaks HTTP to Salesforce: the client, error classes and field mapping."""
