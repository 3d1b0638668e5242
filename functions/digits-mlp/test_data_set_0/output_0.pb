
BprobabilitiesJ(¸Óø;3U|2±öx?T¢<[Ÿ3R8µ2‘»[3G?{7öÒ3©IŞ7