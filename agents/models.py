# Agents, teams, skills and presence arrive with the agent issue.
