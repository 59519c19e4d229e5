print("upadapter")
