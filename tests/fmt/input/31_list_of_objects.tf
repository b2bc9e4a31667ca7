locals {
  servers = [
    {
      name = "a"
        flavor = "m1.tiny"
    },
  {
      name = "bb"
      flavor = "m1.small"
    }
  ]
  pools = [{start="10.0.0.10", end="10.0.0.20"}, {start = "10.0.0.30",end = "10.0.0.40"}]
}
