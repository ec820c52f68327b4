
„¡v¢id²one-consumer.ack-1£cmd¬consumer.ack¤args‚¨consumer¡c£seq