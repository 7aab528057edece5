"""Files shipped with pm_devstack: the Maven pom that fetches Kafka and Kafka's log4j2 configuration."""
