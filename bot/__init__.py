"""opsbot: a Matrix chat-ops bot for Docker Compose stacks."""
