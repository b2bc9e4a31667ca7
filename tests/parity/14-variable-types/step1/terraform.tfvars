name     = "catalog"
replicas = "2"
debug    = "true"
zones    = ["b", "a", "b"]
limits   = { cpu = 2, memory = "512" }
ports    = [443, 80, 443, 8080]
service  = { name = "api" }
owner    = null
