"""Fleet tests: real ansible-playbook runs over real SSH (Debian's openssh-server); the
`fleet` marker is registered in pyproject.toml."""
