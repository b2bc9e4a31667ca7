image_name = "cirros"
flavor     = "m1.tiny"
networks   = ["a", "b"]
tags       = { env = "dev" }
