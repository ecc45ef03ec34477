"""End-to-end tests: the shipped kamailio.cfg on a real Kamailio, calls placed with sipp."""
