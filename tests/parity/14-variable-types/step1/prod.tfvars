replicas = 3
env      = "prod"
retries  = 10
service = {
  name     = "api"
  protocol = "https"
  health   = { interval = 10 }
}
