# Virtual numbers and what each one does arrive with the numbers issue.
