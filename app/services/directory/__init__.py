"""Who we serve: customer organizations with their caller-ID numbers, and their contracts
under the Otasuketai standard."""
