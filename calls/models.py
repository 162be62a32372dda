# Call records arrive with the Voice API client and webhooks issue.
