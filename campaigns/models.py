# Outbound campaigns arrive with the campaigns issue.
