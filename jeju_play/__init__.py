"""jeju-play: the Jeju incident runbook as Ansible playbooks."""

__version__ = "0.1.0"
