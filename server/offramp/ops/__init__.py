"""Operations: readiness, backups and restores, and what several instances share."""
